// The editor's toolbar: text styles, headings, lists, quote, code, links, images (uploaded
// from a file, or by URL), tables (with row/column commands while inside one), undo/redo (collaborative: your own
// changes only), and "Insert" for every registered block.
'use client';
import type { Editor } from '@tiptap/core';
import { useEditorState } from '@tiptap/react';
import { type ReactNode, useRef, useState } from 'react';
import { markInsertedHere } from './blocks/block-frame.tsx';
import { reportBlocks } from './blocks/registry.ts';
import { dismissUploadError, imageUploadStatus, UPLOADABLE_IMAGE_TYPES } from './report-image.ts';
import { safeUrl } from './safe-url.ts';

function Button({
  label,
  title,
  active,
  disabled,
  onClick,
  testId,
}: {
  label: ReactNode;
  title: string;
  active?: boolean;
  disabled?: boolean;
  onClick: () => void;
  testId?: string;
}) {
  return (
    <button
      type="button"
      className={`tool${active ? ' tool-active' : ''}`}
      title={title}
      aria-label={title}
      aria-pressed={active}
      disabled={disabled}
      // keep the editor's selection: a mousedown on the button would blur it
      onMouseDown={(e) => e.preventDefault()}
      onClick={onClick}
      data-testid={testId}
    >
      {label}
    </button>
  );
}

type UrlPrompt = { kind: 'link' | 'image'; value: string; error: string | null };

export function Toolbar({ editor }: { editor: Editor }) {
  const state = useEditorState({
    editor,
    selector: ({ editor: e }) => ({
      bold: e.isActive('bold'),
      italic: e.isActive('italic'),
      strike: e.isActive('strike'),
      code: e.isActive('code'),
      h1: e.isActive('heading', { level: 1 }),
      h2: e.isActive('heading', { level: 2 }),
      h3: e.isActive('heading', { level: 3 }),
      bullet: e.isActive('bulletList'),
      ordered: e.isActive('orderedList'),
      quote: e.isActive('blockquote'),
      codeBlock: e.isActive('codeBlock'),
      link: e.isActive('link'),
      table: e.isActive('table'),
      href: (e.getAttributes('link').href as string | undefined) ?? '',
      ...imageUploadStatus(e.state),
    }),
  });
  const [prompt, setPrompt] = useState<UrlPrompt | null>(null);
  const picker = useRef<HTMLInputElement>(null);
  const chain = () => editor.chain().focus();

  function applyPrompt() {
    if (!prompt) return;
    if (prompt.kind === 'link' && !prompt.value.trim()) {
      chain().extendMarkRange('link').unsetLink().run();
      return setPrompt(null);
    }
    const url = safeUrl(prompt.value);
    if (!url) return setPrompt({ ...prompt, error: 'Enter a web address (https://…).' });
    if (prompt.kind === 'link') chain().extendMarkRange('link').setLink({ href: url }).run();
    else chain().setImage({ src: url }).run();
    setPrompt(null);
  }

  return (
    <div className="report-toolbar" role="toolbar" aria-label="Formatting" data-testid="report-toolbar">
      <div className="tool-group">
        <Button label={<b>B</b>} title="Bold (Ctrl+B)" active={state.bold} onClick={() => chain().toggleBold().run()} testId="tool-bold" />
        <Button label={<i>I</i>} title="Italic (Ctrl+I)" active={state.italic} onClick={() => chain().toggleItalic().run()} testId="tool-italic" />
        <Button label={<s>S</s>} title="Strikethrough" active={state.strike} onClick={() => chain().toggleStrike().run()} />
        <Button label={<code>{'<>'}</code>} title="Inline code" active={state.code} onClick={() => chain().toggleCode().run()} />
      </div>
      <div className="tool-group">
        <Button label="H1" title="Heading 1" active={state.h1} onClick={() => chain().toggleHeading({ level: 1 }).run()} testId="tool-h1" />
        <Button label="H2" title="Heading 2" active={state.h2} onClick={() => chain().toggleHeading({ level: 2 }).run()} testId="tool-h2" />
        <Button label="H3" title="Heading 3" active={state.h3} onClick={() => chain().toggleHeading({ level: 3 }).run()} />
      </div>
      <div className="tool-group">
        <Button label="• List" title="Bulleted list" active={state.bullet} onClick={() => chain().toggleBulletList().run()} testId="tool-bullet-list" />
        <Button label="1. List" title="Numbered list" active={state.ordered} onClick={() => chain().toggleOrderedList().run()} />
        <Button label="❝" title="Quote" active={state.quote} onClick={() => chain().toggleBlockquote().run()} testId="tool-quote" />
        <Button label="{ }" title="Code block" active={state.codeBlock} onClick={() => chain().toggleCodeBlock().run()} testId="tool-code-block" />
      </div>
      <div className="tool-group">
        <Button label="Link" title="Link" active={state.link} onClick={() => setPrompt({ kind: 'link', value: state.href, error: null })} testId="tool-link" />
        <Button
          label={state.pending ? 'Uploading…' : 'Upload image'}
          title="Upload an image (PNG, JPEG, GIF or WebP); you can also paste or drop one"
          disabled={state.pending > 0}
          onClick={() => picker.current?.click()}
          testId="tool-upload-image"
        />
        <input
          ref={picker}
          type="file"
          accept={UPLOADABLE_IMAGE_TYPES.join(',')}
          multiple
          hidden
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = ''; // the same file again is a new choice
            if (files.length) chain().uploadImages(files).run();
          }}
          data-testid="image-file-input"
        />
        <Button label="Image" title="Image from a web address" onClick={() => setPrompt({ kind: 'image', value: '', error: null })} testId="tool-image" />
        <Button label="Table" title="Insert a table" onClick={() => chain().insertTable({ rows: 3, cols: 3, withHeaderRow: true }).run()} testId="tool-table" />
      </div>
      {state.table ? (
        <div className="tool-group" data-testid="table-tools">
          <Button label="+ Row" title="Add a row below" onClick={() => chain().addRowAfter().run()} testId="tool-add-row" />
          <Button label="+ Col" title="Add a column after" onClick={() => chain().addColumnAfter().run()} testId="tool-add-column" />
          <Button label="− Row" title="Delete this row" onClick={() => chain().deleteRow().run()} />
          <Button label="− Col" title="Delete this column" onClick={() => chain().deleteColumn().run()} />
          <Button label="✕ Table" title="Delete the table" onClick={() => chain().deleteTable().run()} />
        </div>
      ) : null}
      <div className="tool-group">
        {reportBlocks.map((block) => (
          <Button
            key={block.name}
            label={`+ ${block.label}`}
            title={`Insert a ${block.label.toLowerCase()}`}
            onClick={() => {
              const blockId = crypto.randomUUID();
              markInsertedHere(blockId);
              chain()
                .insertContent({ type: block.name, attrs: { ...block.initialAttrs(), blockId } })
                .run();
            }}
            testId={`insert-${block.name}`}
          />
        ))}
      </div>
      <div className="tool-group">
        <Button label="↶" title="Undo your last change (Ctrl+Z)" onClick={() => chain().undo().run()} testId="tool-undo" />
        <Button label="↷" title="Redo (Ctrl+Shift+Z)" onClick={() => chain().redo().run()} testId="tool-redo" />
      </div>
      {state.error ? (
        <div className="tool-prompt" data-testid="image-upload-error">
          <span className="error-text small" role="alert">
            {state.error}
          </span>
          <button type="button" className="btn btn-sm" onClick={() => dismissUploadError(editor.view)}>
            Dismiss
          </button>
        </div>
      ) : null}
      {prompt ? (
        <form
          className="tool-prompt"
          onSubmit={(e) => {
            e.preventDefault();
            applyPrompt();
          }}
        >
          <input
            className="input input-sm"
            // biome-ignore lint/a11y/noAutofocus: the input appears because the user asked to rename/enter it: focus goes where they are about to type
            autoFocus
            placeholder={prompt.kind === 'link' ? 'https://… (empty removes the link)' : 'https://…/image.png'}
            aria-label={prompt.kind === 'link' ? 'Link address' : 'Image address'}
            value={prompt.value}
            onChange={(e) => setPrompt({ ...prompt, value: e.target.value, error: null })}
            onKeyDown={(e) => {
              if (e.key === 'Escape') setPrompt(null);
            }}
            data-testid="tool-url"
          />
          <button type="submit" className="btn btn-sm btn-primary">
            {prompt.kind === 'link' ? 'Set link' : 'Insert image'}
          </button>
          <button type="button" className="btn btn-sm" onClick={() => setPrompt(null)}>
            Cancel
          </button>
          {prompt.error ? (
            <span className="error-text small" role="alert">
              {prompt.error}
            </span>
          ) : null}
        </form>
      ) : null}
    </div>
  );
}
