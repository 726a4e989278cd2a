// The user's Cellmark settings as the rest of the extension sees them: trimmed,
// typed, and with one answer to "is there enough to record?".
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

export interface ICellmarkConfig {
  /** Without trailing slash, e.g. "http://localhost:3000". */
  serverUrl: string;
  apiToken: string;
  /** "team-slug/project-slug" */
  project: string;
  enabled: boolean;
}

export const DEFAULT_CONFIG: ICellmarkConfig = {
  serverUrl: 'http://localhost:3000',
  apiToken: '',
  project: '',
  enabled: true,
};

/** Read the composite settings, tolerating missing or mistyped values. */
export function configFromSettings(composite: ReadonlyPartialJSONObject): ICellmarkConfig {
  const text = (key: keyof ICellmarkConfig): string => {
    const value = composite[key];
    return typeof value === 'string' ? value.trim() : '';
  };
  return {
    serverUrl: text('serverUrl').replace(/\/+$/, ''),
    apiToken: text('apiToken'),
    project: text('project'),
    enabled: composite.enabled !== false,
  };
}

/** What is missing before capture can start; empty when complete. */
export function missingSettings(config: ICellmarkConfig): string[] {
  const missing: string[] = [];
  if (!config.serverUrl) {
    missing.push('serverUrl');
  }
  if (!config.apiToken) {
    missing.push('apiToken');
  }
  if (!/^[^/\s]+\/[^/\s]+$/.test(config.project)) {
    missing.push('project');
  }
  return missing;
}

export function isConfigured(config: ICellmarkConfig): boolean {
  return missingSettings(config).length === 0;
}
