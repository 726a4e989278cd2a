// @vitest-environment jsdom
// The shared inline-rename field and the menu dismiss hook, rendered by React into jsdom and
// driven with real DOM events.
import { act, useRef } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useDismissMenu } from '@/lib/use-dismiss-menu.ts';
import { RenameInput, useRenameToggle } from './rename-input.tsx';

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

const $ = <T extends Element>(selector: string) => document.querySelector<T>(selector)!;
const key = (el: Element, k: string) => act(() => void el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true })));
function type(input: HTMLInputElement, text: string) {
  // React tracks the value it last set; go through the native setter so onChange sees a change
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, text);
  act(() => void input.dispatchEvent(new Event('input', { bubbles: true })));
}

function Titled({ saved, save }: { saved: string[]; save: (next: string) => Promise<unknown> }) {
  const { editing, trigger, start, done } = useRenameToggle();
  const title = saved.at(-1) ?? 'Draft';
  return editing ? (
    <RenameInput value={title} label="Report title" save={save} onDone={done} editing testId="input" />
  ) : (
    <button ref={trigger} type="button" onClick={start} data-testid="trigger">
      {title}
    </button>
  );
}

describe('RenameInput', () => {
  it('saves the trimmed value on Enter and gives focus back to the button that opened it', async () => {
    const saved: string[] = [];
    const save = async (next: string) => void saved.push(next);
    act(() => root.render(<Titled saved={saved} save={save} />));
    act(() => $<HTMLButtonElement>('[data-testid=trigger]').click());
    const input = $<HTMLInputElement>('[data-testid=input]');
    expect(document.activeElement).toBe(input);
    type(input, '  Loss curves ');
    await act(async () => void input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true })));
    expect(saved).toEqual(['Loss curves']);
    act(() => root.render(<Titled saved={saved} save={save} />));
    expect(document.activeElement).toBe($('[data-testid=trigger]'));
  });

  it('puts the saved value back on Escape, saving nothing', () => {
    const saved: string[] = [];
    act(() => root.render(<Titled saved={saved} save={async (next) => void saved.push(next)} />));
    act(() => $<HTMLButtonElement>('[data-testid=trigger]').click());
    type($<HTMLInputElement>('[data-testid=input]'), 'Half-typed');
    key($('[data-testid=input]'), 'Escape');
    expect(saved).toEqual([]);
    expect($('[data-testid=trigger]').textContent).toBe('Draft');
    expect(document.activeElement).toBe($('[data-testid=trigger]'));
  });

  it('refuses an empty value with a message naming the field, keeping focus to fix it', () => {
    const saved: string[] = [];
    act(() => root.render(<RenameInput value="run-1" label="Run name" save={async (next) => void saved.push(next)} testId="input" />));
    const input = $<HTMLInputElement>('[data-testid=input]');
    act(() => input.focus());
    type(input, '   ');
    key(input, 'Enter');
    expect(saved).toEqual([]);
    expect($('[role=alert]').textContent).toBe('Run name must not be empty.');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(input);
  });

  it('shows what the server refused and keeps the draft', async () => {
    act(() => root.render(<RenameInput value="run-1" label="Run name" save={() => Promise.reject(new Error('name is taken'))} testId="input" />));
    const input = $<HTMLInputElement>('[data-testid=input]');
    type(input, 'run-2');
    await act(async () => void input.dispatchEvent(new FocusEvent('focusout', { bubbles: true })));
    expect($('[role=alert]').textContent).toBe('name is taken');
    expect(input.value).toBe('run-2');
  });
});

function Menu() {
  const ref = useRef<HTMLDetailsElement>(null);
  useDismissMenu(ref);
  return (
    <>
      <details ref={ref} open>
        <summary>Columns</summary>
        <label>
          <input type="checkbox" data-testid="option" /> lr
        </label>
      </details>
      <p data-testid="outside">elsewhere</p>
    </>
  );
}

describe('useDismissMenu', () => {
  it('closes on a click outside the menu, not on one inside it', () => {
    act(() => root.render(<Menu />));
    act(() => $<HTMLInputElement>('[data-testid=option]').click());
    expect($<HTMLDetailsElement>('details').open).toBe(true);
    act(() => $<HTMLElement>('[data-testid=outside]').click());
    expect($<HTMLDetailsElement>('details').open).toBe(false);
  });

  it('closes on Escape inside it and puts focus back on its summary', () => {
    act(() => root.render(<Menu />));
    act(() => $<HTMLInputElement>('[data-testid=option]').focus());
    key($('[data-testid=option]'), 'Escape');
    expect($<HTMLDetailsElement>('details').open).toBe(false);
    expect(document.activeElement).toBe($('summary'));
  });
});
