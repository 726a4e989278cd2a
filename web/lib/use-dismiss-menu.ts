// A <details> used as a menu stays open on outside clicks and ignores Escape; this makes it close
// like a menu: on a click anywhere outside it, or on Escape inside it (focus back on its summary,
// so a keyboard user is where they opened it).
'use client';
import { type RefObject, useEffect } from 'react';

export function useDismissMenu(ref: RefObject<HTMLDetailsElement | null>): void {
  useEffect(() => {
    const details = ref.current;
    if (!details) return;
    const onClick = (event: MouseEvent) => {
      if (details.open && !details.contains(event.target as Node)) details.open = false;
    };
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || !details.open) return;
      event.stopPropagation();
      details.open = false;
      details.querySelector('summary')?.focus();
    };
    document.addEventListener('click', onClick);
    details.addEventListener('keydown', onKeyDown);
    return () => {
      document.removeEventListener('click', onClick);
      details.removeEventListener('keydown', onKeyDown);
    };
  }, [ref]);
}
