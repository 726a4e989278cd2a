// Last-resort error boundary: a rendering bug shows a message and a retry, not a blank page.
'use client';

export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main className="page page-narrow">
      <div className="alert alert-error" role="alert">
        <strong>Something went wrong: </strong>
        {error.message || 'unexpected error'}
      </div>
      <p style={{ marginTop: 12 }}>
        <button type="button" className="btn" onClick={reset}>
          Try again
        </button>
      </p>
    </main>
  );
}
