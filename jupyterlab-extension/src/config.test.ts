import { describe, expect, it } from 'vitest';
import { configFromSettings, isConfigured, missingSettings } from './config';

describe('configFromSettings', () => {
  it('trims values and drops trailing slashes from the URL', () => {
    expect(configFromSettings({ serverUrl: ' https://cm.example.com/ ', apiToken: ' t ', project: ' a/b ', enabled: true })).toEqual({
      serverUrl: 'https://cm.example.com',
      apiToken: 't',
      project: 'a/b',
      enabled: true,
    });
  });

  it('treats missing values as empty and enabled as on', () => {
    expect(configFromSettings({})).toEqual({ serverUrl: '', apiToken: '', project: '', enabled: true });
  });
});

describe('missingSettings', () => {
  it('lists what is missing, including a malformed project', () => {
    expect(missingSettings({ serverUrl: 'http://localhost:3000', apiToken: '', project: 'just-a-project', enabled: true })).toEqual(['apiToken', 'project']);
    expect(isConfigured({ serverUrl: 'http://localhost:3000', apiToken: 't', project: 'team/proj', enabled: true })).toBe(true);
  });
});
