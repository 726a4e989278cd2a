// The report's connection state: connecting, live, offline, or why the server closed it.
import Link from 'next/link';
import type { CollabState } from './use-report-doc.ts';

const closedMessages: Record<number, string> = {
  4401: 'Your session has ended. Sign in again to keep editing.',
  4403: 'You do not have permission to edit this report, so the live connection was closed.',
  4404: 'This report does not exist (it may have been deleted).',
};

export function collabLabel(state: CollabState): string {
  switch (state.kind) {
    case 'connecting':
      return 'Connecting…';
    case 'syncing':
      return 'Syncing…';
    case 'live':
      return 'Live';
    case 'offline':
      return 'Offline — reconnecting';
    case 'closed':
      return 'Disconnected';
  }
}

export function CollabStatus({ state }: { state: CollabState }) {
  return (
    <span
      className={`badge badge-${state.kind}`}
      data-testid="collab-status"
      data-state={state.kind}
      data-code={state.kind === 'closed' ? state.code : undefined}
    >
      {collabLabel(state)}
    </span>
  );
}

export function CollabClosedMessage({ state, signInHref }: { state: CollabState; signInHref: string }) {
  if (state.kind === 'closed') {
    const message = closedMessages[state.code] ?? `The server closed the connection (${state.code}${state.reason ? `: ${state.reason}` : ''}).`;
    return (
      <div className="alert alert-error" role="alert" data-testid="collab-closed">
        {message}
        {state.code === 4401 ? (
          <>
            {' '}
            <Link href={signInHref}>Sign in</Link>
          </>
        ) : null}
      </div>
    );
  }
  if (state.kind === 'offline') {
    return <div className="alert alert-info">You are offline. Keep writing: your changes sync when the connection returns.</div>;
  }
  return null;
}
