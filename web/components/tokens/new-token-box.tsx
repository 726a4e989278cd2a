// The plaintext of a just-created token, shown once with a copy button.
'use client';
import { useState } from 'react';

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API outside secure contexts (plain http on a LAN address): select instead.
    return false;
  }
}

export function NewTokenBox({ name, token, onDone }: { name: string; token: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'select' | null>(null);

  async function copy() {
    if (await copyText(token)) return setCopied('yes');
    const el = document.getElementById('new-token-value');
    if (el) window.getSelection()?.selectAllChildren(el);
    setCopied('select');
  }

  return (
    <div className="alert alert-success" data-testid="new-token">
      <strong>Token “{name}” created.</strong> Copy it now: it will not be shown again.
      <div className="secret-box">
        <code id="new-token-value" data-testid="new-token-value">
          {token}
        </code>
        <button type="button" className="btn btn-sm" onClick={copy}>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
      </div>
      {copied === 'select' ? <div className="small">Selected: press Ctrl+C (⌘C) to copy.</div> : null}
      <div className="small">
        Paste it into JupyterLab: Settings → Settings Editor → Cellmark → <code className="inline">apiToken</code>.{' '}
        <button type="button" className="btn-link" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
