// The run's environment record (ingest.environment, sent by the kernel side) read defensively:
// every part may be missing, null, or replaced by a "<part>Error" text, and unknown keys are kept.

export interface Package {
  name: string;
  version: string | null;
}

export interface Gpu {
  index: number | null;
  name: string | null;
  memoryTotalBytes: number | null;
  driver: string | null;
  cuda: string | null;
  uuid: string | null;
}

export interface Environment {
  python: { version: string | null; implementation: string | null; executable: string | null } | null;
  packages: Package[];
  git: {
    commit: string | null;
    branch: string | null;
    remote: string | null;
    dirty: boolean | null;
    diff: string | null;
    root: string | null;
    untracked: string[];
  } | null;
  host: { hostname: string | null; os: string | null; platform: string | null; cpuCount: number | null; memoryBytes: number | null } | null;
  gpus: Gpu[];
  gpuError: string | null;
  /** the system sampler's view: where GPU samples come from (nvml | nvidia-smi), how often, or why there are none */
  gpuSampling: { source: string | null; intervalSeconds: number | null; error: string | null } | null;
  /** "<part>Error" texts from probes that failed (python, packages, git, host) */
  errors: Record<string, string>;
  /** keys this page does not know, shown as JSON */
  extra: Record<string, unknown>;
}

const KNOWN = new Set(['python', 'packages', 'git', 'host', 'gpus', 'gpuError', 'gpuSampling']);

const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** "numpy==2.1.0", "pkg @ file:///…", or {name, version}. */
export function parsePackage(entry: unknown): Package | null {
  if (typeof entry === 'string') {
    const match = /^([^=<>~!@\s]+)\s*(?:===?|@)\s*(.+)$/.exec(entry.trim());
    return match ? { name: match[1]!, version: match[2]!.trim() } : entry.trim() ? { name: entry.trim(), version: null } : null;
  }
  const o = obj(entry);
  const name = o && str(o.name);
  return name ? { name, version: str(o.version) } : null;
}

export function readEnvironment(raw: unknown): Environment | null {
  const env = obj(raw);
  if (!env) return null;
  const python = obj(env.python);
  const git = obj(env.git);
  const host = obj(env.host);
  const sampling = obj(env.gpuSampling);
  const errors: Record<string, string> = {};
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(env)) {
    if (KNOWN.has(key)) continue;
    const part = /^(.+)Error$/.exec(key)?.[1];
    if (part && KNOWN.has(part) && typeof value === 'string') errors[part] = value;
    else extra[key] = value;
  }
  return {
    python: python ? { version: str(python.version), implementation: str(python.implementation), executable: str(python.executable) } : null,
    packages: Array.isArray(env.packages)
      ? env.packages
          .map(parsePackage)
          .filter((p): p is Package => p !== null)
          .sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }))
      : [],
    git: git
      ? {
          commit: str(git.commit),
          branch: str(git.branch),
          remote: str(git.remote),
          dirty: typeof git.dirty === 'boolean' ? git.dirty : null,
          diff: str(git.diff),
          root: str(git.root),
          untracked: Array.isArray(git.untracked) ? git.untracked.filter((u): u is string => typeof u === 'string') : [],
        }
      : null,
    host: host
      ? { hostname: str(host.hostname), os: str(host.os), platform: str(host.platform), cpuCount: num(host.cpuCount), memoryBytes: num(host.memoryBytes) }
      : null,
    gpus: Array.isArray(env.gpus)
      ? env.gpus
          .map(obj)
          .filter((g): g is Record<string, unknown> => g !== null)
          .map((g) => ({
            index: num(g.index),
            name: str(g.name),
            memoryTotalBytes: num(g.memoryTotalBytes),
            driver: str(g.driver),
            cuda: str(g.cuda),
            uuid: str(g.uuid),
          }))
      : [],
    gpuError: str(env.gpuError),
    gpuSampling: sampling ? { source: str(sampling.source), intervalSeconds: num(sampling.intervalSeconds), error: str(sampling.error) } : null,
    errors,
    extra,
  };
}

/** Case-insensitive match on "name==version". */
export function filterPackages(packages: Package[], query: string): Package[] {
  const q = query.trim().toLowerCase();
  if (!q) return packages;
  return packages.filter((p) => `${p.name}==${p.version ?? ''}`.toLowerCase().includes(q));
}
