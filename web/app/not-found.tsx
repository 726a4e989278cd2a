// 404 for paths no page matches.
import Link from 'next/link';
import { AuthCard } from '@/components/auth-card.tsx';

export default function NotFound() {
  return (
    <AuthCard title="Page not found" lead="There is nothing at this address.">
      <Link className="btn" href="/">
        Go to your teams
      </Link>
    </AuthCard>
  );
}
