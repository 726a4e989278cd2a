// What was captured for this run: without the kernel side, config, environment and kernel
// timing are missing, and the page says so instead of showing empty panels.
import type { Outputs } from '@/lib/trpc.ts';
import './run-header.css';

type RunDetail = Outputs['runs']['get'];

export function CaptureNote({ data }: { data: RunDetail }) {
  if (data.capture.kernel) return null;
  const kernel = data.run.kernelName ? ` (${data.run.kernelName})` : '';
  return (
    <div className="alert alert-info capture-note" role="note" data-testid="capture-note">
      <strong>Kernel-side capture was not active for this run.</strong> Only JupyterLab recorded it, so config, the environment and the kernel&apos;s own timing
      are missing; durations are measured from kernel messages. This happens with a non-Python kernel{kernel} or when the{' '}
      <code className="inline">cellmark</code> package is not installed in the kernel&apos;s environment (
      <code className="inline">pip install jupyterlab-cellmark</code> there, then restart the kernel).
    </div>
  );
}
