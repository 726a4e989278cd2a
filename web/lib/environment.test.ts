// Unit tests for reading the environment record defensively.
import { describe, expect, it } from 'vitest';
import { filterPackages, parsePackage, readEnvironment } from './environment.ts';

describe('readEnvironment', () => {
  it('reads the documented shape', () => {
    const env = readEnvironment({
      python: { version: '3.11.7', implementation: 'CPython', executable: '/venv/bin/python' },
      packages: ['torch==2.5.1', 'numpy==2.1.0', 'mypkg @ file:///src/mypkg'],
      git: { commit: 'abc', branch: 'main', remote: null, dirty: true, diff: 'diff --git', root: '/r', untracked: ['x.py'] },
      host: { hostname: 'box', os: 'Linux-6.1', platform: 'linux', cpuCount: 16, memoryBytes: 68719476736 },
      gpus: [{ index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalBytes: 85899345920, driver: '550.54.15', cuda: '12.4', uuid: 'GPU-1' }],
      gpuError: null,
      condaEnv: 'ml',
    })!;
    expect(env.packages.map((p) => p.name)).toEqual(['mypkg', 'numpy', 'torch']);
    expect(env.packages[0]!.version).toBe('file:///src/mypkg');
    expect(env.git).toMatchObject({ commit: 'abc', dirty: true, untracked: ['x.py'] });
    expect(env.host?.memoryBytes).toBe(68719476736);
    expect(env.gpus[0]).toMatchObject({ name: 'NVIDIA H100 80GB HBM3', cuda: '12.4' });
    expect(env.extra).toEqual({ condaEnv: 'ml' });
  });

  it('survives missing parts and keeps probe errors', () => {
    const env = readEnvironment({ python: null, packages: [], packagesError: 'OSError: boom', git: null, gpus: [], gpuError: 'no NVIDIA GPU found' })!;
    expect(env).toMatchObject({ python: null, git: null, host: null, gpus: [], gpuError: 'no NVIDIA GPU found', errors: { packages: 'OSError: boom' } });
    expect(readEnvironment(null)).toBeNull();
    expect(readEnvironment({ gpus: [null, 'x'] })!.gpus).toEqual([]);
  });

  it("reads the system sampler's GPU view (source, interval, why none), not as an unknown field", () => {
    const env = readEnvironment({ gpus: [], gpuSampling: { source: 'nvidia-smi', intervalSeconds: 2, error: null } })!;
    expect(env.gpuSampling).toEqual({ source: 'nvidia-smi', intervalSeconds: 2, error: null });
    expect(env.extra).toEqual({});
    expect(readEnvironment({ gpuSampling: { source: null, intervalSeconds: 'x', error: 'off (CELLMARK_SYSTEM_INTERVAL)' } })!.gpuSampling).toEqual({
      source: null,
      intervalSeconds: null,
      error: 'off (CELLMARK_SYSTEM_INTERVAL)',
    });
    expect(readEnvironment({})!.gpuSampling).toBeNull();
  });
});

describe('packages', () => {
  it('parses pins and filters by name or version', () => {
    expect(parsePackage('numpy==2.1.0')).toEqual({ name: 'numpy', version: '2.1.0' });
    expect(parsePackage({ name: 'torch', version: '2.5.1' })).toEqual({ name: 'torch', version: '2.5.1' });
    expect(parsePackage('lonely')).toEqual({ name: 'lonely', version: null });
    const pkgs = [parsePackage('numpy==2.1.0')!, parsePackage('NumExpr==2.10')!, parsePackage('torch==2.5.1')!];
    expect(filterPackages(pkgs, 'NUM').map((p) => p.name)).toEqual(['numpy', 'NumExpr']);
    expect(filterPackages(pkgs, '==2.5').map((p) => p.name)).toEqual(['torch']);
    expect(filterPackages(pkgs, '  ')).toHaveLength(3);
  });
});
