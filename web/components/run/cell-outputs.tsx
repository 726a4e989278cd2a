// A cell's outputs as plain text: streams, text/plain of results, and errors with ANSI stripped.
// Never renders HTML from outputs: notebooks are untrusted input.
import { joinText, stripAnsi, terminalText } from '@/lib/format.ts';
import type { Outputs } from '@/lib/trpc.ts';

type Cell = Outputs['runs']['get']['cells'][number];
type Output = Cell['outputs'][number];
type CellError = NonNullable<Cell['error']>;

function ErrorOutput({ error }: { error: CellError }) {
  const traceback = error.traceback.map(stripAnsi).join('\n');
  return (
    <pre className="output error" data-output-type="error">
      <strong>{`${error.ename}: ${error.evalue}`}</strong>
      {traceback ? `\n\n${traceback}` : ''}
    </pre>
  );
}

function OutputView({ output }: { output: Output }) {
  if (output.output_type === 'stream') {
    return (
      <pre className={`output ${output.name}`} data-output-type="stream">
        {terminalText(output.text)}
      </pre>
    );
  }
  if (output.output_type === 'error') return <ErrorOutput error={output} />;
  const text = joinText(output.data['text/plain']);
  if (text !== null) {
    return (
      <pre className="output" data-output-type={output.output_type}>
        {stripAnsi(text)}
      </pre>
    );
  }
  const types = Object.keys(output.data);
  return (
    <div className="output-note" data-output-type={output.output_type}>
      {types.length ? `${types.join(', ')} output (not shown here)` : 'empty output'}
    </div>
  );
}

export function CellOutputs({ cell }: { cell: Cell }) {
  const outputs = cell.outputs;
  // An error recorded on the cell but not among its outputs still deserves to be seen.
  const extraError = cell.error && !outputs.some((o) => o.output_type === 'error') ? cell.error : null;
  if (!outputs.length && !extraError) return null;
  return (
    // One container per cell, so tests can read all of a cell's output text at once.
    <div className="outputs" data-testid="cell-output">
      {outputs.map((output, i) => (
        <OutputView key={i} output={output} />
      ))}
      {extraError ? <ErrorOutput error={extraError} /> : null}
    </div>
  );
}
