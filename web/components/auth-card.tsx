// Centered card for the signed-out pages (setup, sign in, sign up).
import type { ReactNode } from 'react';
import { Logo } from './logo.tsx';
import './auth-card.css';

export function AuthCard({ title, lead, children, foot }: { title: string; lead?: ReactNode; children: ReactNode; foot?: ReactNode }) {
  return (
    <main className="auth-wrap">
      <div className="card auth-card">
        <Logo />
        <h1>{title}</h1>
        {lead ? <p className="lead">{lead}</p> : null}
        {children}
        {foot ? <div className="auth-foot small">{foot}</div> : null}
      </div>
    </main>
  );
}
