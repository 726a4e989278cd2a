// A cell's outputs, drawn safely: streams and errors as text (ANSI colours as spans), HTML
// sanitised, images from the blob store or inline base64, Markdown and LaTeX as text, JSON
// pretty-printed, and large values fetched only when asked for. No script from an output
// ever runs: JavaScript, widgets and plot bundles show their text fallback.
'use client';
import type { ReactNode } from 'react';
import { stripAnsi } from '@/lib/format.ts';
import { blobUrl, imageSize, inlineImageSrc, isBlobPointer, normalizeValue, type OutputKind, prettyJson, rankMimeTypes } from '@/lib/outputs.ts';
import type { Outputs } from '@/lib/trpc.ts';
import { AnsiText } from './ansi-text.tsx';
import { BlobValue } from './blob-value.tsx';
import { HtmlOutput } from './html-output.tsx';
import './cells.css';

type Cell = Outputs['runs']['get']['cells'][number];
type Output = Cell['outputs'][number];
type CellError = NonNullable<Cell['error']>;

function ErrorOutput({ error }: { error: CellError }) {
  const traceback = error.traceback.join('\n');
  // a long traceback gets the exception as a summary on top; a one-liner already is one
  const summary = error.traceback.length > 1 || !traceback.trim();
  return (
    <pre className="output error" data-output-type="error">
      {summary ? <strong>{`${stripAnsi(error.ename)}: ${stripAnsi(error.evalue)}`}</strong> : null}
      {summary && traceback ? '\n\n' : ''}
      {traceback ? <AnsiText text={traceback} /> : null}
    </pre>
  );
}

const asText = (value: unknown) => (typeof value === 'string' ? value : prettyJson(value));

/** One MIME value that is available as text (inline, or after loading its blob). */
function TextualValue({ kind, mime, value, fallback }: { kind: OutputKind; mime: string; value: unknown; fallback: ReactNode }) {
  switch (kind) {
    case 'html':
      return <HtmlOutput html={asText(value)} fallback={fallback} />;
    case 'markdown':
      // shown as its source: readable, and nothing in it can run
      return (
        <div className="output output-markdown" data-mime={mime}>
          {asText(value)}
        </div>
      );
    case 'json':
      return (
        <pre className="output output-json" data-mime={mime}>
          {prettyJson(value)}
        </pre>
      );
    default:
      return (
        <pre className="output" data-mime={mime}>
          <AnsiText text={asText(value)} />
        </pre>
      );
  }
}

function ImageValue({ mime, value, metadata, runId, fallback }: { mime: string; value: unknown; metadata: unknown; runId: string; fallback: ReactNode }) {
  const src = isBlobPointer(value) ? blobUrl(runId, value) : typeof value === 'string' ? inlineImageSrc(mime, value) : null;
  if (!src) return <>{fallback}</>;
  const { width, height } = imageSize(metadata, mime);
  return (
    <div className="output output-image" data-mime={mime}>
      {/* biome-ignore lint/performance/noImgElement: a kernel's image from our blob route or inline base64; next/image would proxy and re-encode it */}
      <img src={src} alt={`${mime} output`} width={width} height={height} loading="lazy" />
    </div>
  );
}

/** The best of a MIME bundle, falling back down the ranking when a type shows nothing. */
function RichOutput({ output, runId }: { output: Extract<Output, { data: unknown }>; runId: string }) {
  const data = output.data as Record<string, unknown>;
  const ranked = rankMimeTypes(data);
  const render = (index: number): ReactNode => {
    const choice = ranked[index];
    if (!choice) {
      // nothing in the bundle could be shown: name all of it
      const types = Object.keys(data);
      return <div className="output-note">{types.length ? `${types.join(', ')} output: needs JavaScript or a viewer, not shown here` : 'empty output'}</div>;
    }
    const value = normalizeValue(data[choice.mime]);
    const fallback = render(index + 1);
    if (choice.kind === 'image') return <ImageValue mime={choice.mime} value={value} metadata={output.metadata} runId={runId} fallback={fallback} />;
    if (isBlobPointer(value)) {
      return (
        <BlobValue runId={runId} pointer={value} what={choice.kind === 'html' ? 'HTML output' : 'output'}>
          {(loaded) => <TextualValue kind={choice.kind} mime={choice.mime} value={loaded} fallback={fallback} />}
        </BlobValue>
      );
    }
    return <TextualValue kind={choice.kind} mime={choice.mime} value={value} fallback={fallback} />;
  };
  return <div data-output-type={output.output_type}>{render(0)}</div>;
}

function StreamOutput({ output, runId }: { output: Extract<Output, { output_type: 'stream' }>; runId: string }) {
  const text: unknown = normalizeValue(output.text);
  const draw = (value: unknown) => (
    <pre className={`output ${output.name}`} data-output-type="stream">
      <AnsiText text={asText(value)} />
    </pre>
  );
  if (isBlobPointer(text)) {
    return (
      <div data-output-type="stream">
        <BlobValue runId={runId} pointer={text} what={output.name}>
          {draw}
        </BlobValue>
      </div>
    );
  }
  return draw(text);
}

function OutputView({ output, runId }: { output: Output; runId: string }) {
  if (output.output_type === 'stream') return <StreamOutput output={output} runId={runId} />;
  if (output.output_type === 'error') return <ErrorOutput error={output} />;
  return <RichOutput output={output} runId={runId} />;
}

export function CellOutputs({ cell, runId }: { cell: Cell; runId: string }) {
  const outputs = cell.outputs;
  // An error recorded on the cell but not among its outputs still deserves to be seen.
  const extraError = cell.error && !outputs.some((o) => o.output_type === 'error') ? cell.error : null;
  if (!outputs.length && !extraError) return null;
  return (
    // One container per cell, so tests can read all of a cell's output text at once.
    <div className="outputs" data-testid="cell-output">
      {outputs.map((output, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a cell's outputs only grow at the end: the position is the output's identity
        <OutputView key={i} output={output} runId={runId} />
      ))}
      {extraError ? <ErrorOutput error={extraError} /> : null}
    </div>
  );
}
