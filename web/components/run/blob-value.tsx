// Output values the server moved to the blob store: loaded only when asked for
// ("Show 2.3 MiB output"), then drawn like an inline value.
'use client';
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { type BlobPointer, blobUrl, decodeBlobText, formatBytes } from '@/lib/outputs.ts';
import './cells.css';

async function fetchBlob(runId: string, pointer: BlobPointer): Promise<unknown> {
  const res = await fetch(blobUrl(runId, pointer), { credentials: 'same-origin' });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: { message?: string } };
      if (body.error?.message) message = `${message}: ${body.error.message}`;
    } catch {
      // not JSON: the status says enough
    }
    throw new Error(`could not load the output (${message})`);
  }
  return decodeBlobText(pointer, await res.text());
}

export function BlobValue({
  runId,
  pointer,
  what = 'output',
  children,
}: {
  runId: string;
  pointer: BlobPointer;
  what?: string;
  children: (value: unknown) => ReactNode;
}) {
  const [wanted, setWanted] = useState(false);
  const blob = useQuery({
    queryKey: ['blob', runId, pointer.$blob, pointer.encoding],
    queryFn: () => fetchBlob(runId, pointer),
    enabled: wanted,
    staleTime: Infinity,
    retry: false,
  });
  if (blob.data !== undefined) return <>{children(blob.data)}</>;
  return (
    <div className="output-note output-blob" data-testid="blob-output" data-size={pointer.size}>
      {blob.isError ? (
        <span className="error-text" role="alert">
          {blob.error.message}{' '}
        </span>
      ) : null}
      <button
        type="button"
        className="btn btn-sm"
        onClick={() => (blob.isError ? blob.refetch() : setWanted(true))}
        disabled={blob.isFetching}
        data-testid="blob-load"
      >
        {blob.isFetching ? 'Loading…' : blob.isError ? 'Try again' : `Show ${formatBytes(pointer.size)} ${what}`}
      </button>{' '}
      <a className="small" href={blobUrl(runId, pointer)} target="_blank" rel="noopener noreferrer">
        open raw
      </a>
    </div>
  );
}
