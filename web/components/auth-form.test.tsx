// @vitest-environment jsdom
// The signed-out forms' submit flow, rendered by React into jsdom and submitted for real.
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthForm, fieldText } from './auth-form.tsx';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root;
let host: HTMLDivElement;
beforeEach(() => {
  host = document.body.appendChild(document.createElement('div'));
  root = createRoot(host);
});
afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

function render(submit: (form: FormData) => Promise<string | null | undefined>) {
  act(() =>
    root.render(
      <AuthForm submit={submit} label="Sign in" busyLabel="Signing in…" whenFailed={<p data-testid="note">account kept</p>}>
        <input name="email" defaultValue="  ada@example.com " />
      </AuthForm>,
    ),
  );
}
const submitForm = () => act(async () => void host.querySelector('form')!.requestSubmit());
const alert = () => host.querySelector('[role=alert]')?.textContent;

describe('AuthForm', () => {
  it('hands the fields to submit, busy until it settles, and shows no error when it went through', async () => {
    const seen: string[] = [];
    let finish = () => {};
    render((form) => {
      seen.push(fieldText(form, 'email'));
      return new Promise<undefined>((resolve) => (finish = () => resolve(undefined)));
    });
    await submitForm();
    expect(seen).toEqual(['ada@example.com']);
    expect(host.querySelector('button')!.textContent).toBe('Signing in…');
    expect(host.querySelector('button')!.disabled).toBe(true);
    await act(async () => finish());
    expect(host.querySelector('button')!.textContent).toBe('Sign in');
    expect(alert()).toBeUndefined();
  });

  it('announces the message submit returns, with what whenFailed says', async () => {
    render(async () => 'Invalid email or password');
    await submitForm();
    expect(alert()).toBe('Invalid email or password');
    expect(host.querySelector('[data-testid=note]')).not.toBeNull();
  });

  it('says the server is unreachable when the request cannot be made, and the error of anything else thrown', async () => {
    render(() => Promise.reject(new TypeError('Failed to fetch')));
    await submitForm();
    expect(alert()).toBe('The Cellmark server is unreachable. Check your connection and try again.');
    render(() => Promise.reject(new Error('a team with this name exists')));
    await submitForm();
    expect(alert()).toBe('a team with this name exists');
  });
});
