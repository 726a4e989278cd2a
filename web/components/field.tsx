// A labelled form input.
import { type InputHTMLAttributes, useId } from 'react';

type FieldProps = InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string };

export function Field({ label, hint, ...input }: FieldProps) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} className="input" {...input} />
      {hint ? <span className="hint">{hint}</span> : null}
    </div>
  );
}

/** The end of a form: what went wrong (announced), then the submit button, busy while pending. */
export function FormSubmit({ error, pending, label, busyLabel }: { error: string | null; pending: boolean; label: string; busyLabel: string }) {
  return (
    <>
      {error ? (
        <div className="alert alert-error" role="alert" data-testid="form-error">
          {error}
        </div>
      ) : null}
      <button className="btn btn-primary" type="submit" disabled={pending}>
        {pending ? busyLabel : label}
      </button>
    </>
  );
}
