// Shared loading and error displays; API errors show the server's own message.
import { errorCode, errorMessage } from '@/lib/errors.ts';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      {label}
    </div>
  );
}

const titles: Record<string, string> = {
  NOT_FOUND: 'Not found',
  FORBIDDEN: 'No access',
  UNAUTHORIZED: 'Sign in required',
};

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  const heading = title ?? titles[errorCode(error) ?? ''];
  return (
    <div className="alert alert-error" role="alert" data-testid="error">
      {heading ? <strong>{heading}: </strong> : null}
      {errorMessage(error)}
    </div>
  );
}

/** Renders the error of whichever mutation or query failed last, if any. */
export function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div className="alert alert-error" role="alert" data-testid="form-error">
      {errorMessage(error)}
    </div>
  );
}
