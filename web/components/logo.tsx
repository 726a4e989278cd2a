// The Cellmark mark (a notebook cell with a check) and wordmark, inline so it works offline.
import Link from 'next/link';
import './logo.css';

export function LogoMark({ size = 22 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" aria-hidden="true">
      <rect x="1.5" y="1.5" width="21" height="21" rx="5" fill="#4f46e5" />
      <path d="M7 6.5H5.5v11H7M17 6.5h1.5v11H17" stroke="#fff" strokeWidth="1.6" fill="none" strokeLinecap="round" />
      <path d="M8.5 12.3l2.4 2.4 4.6-5" stroke="#fff" strokeWidth="1.8" fill="none" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

export function Logo({ href = '/' }: { href?: string }) {
  return (
    <Link href={href} className="logo" aria-label="Cellmark home">
      <LogoMark />
      <span>Cellmark</span>
    </Link>
  );
}
