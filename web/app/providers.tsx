// Client-side data layer: one React Query client and the tRPC client, shared by every page.
'use client';
import type { AppRouter } from '@cellmark/server/router';
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink, httpLink, splitLink } from '@trpc/client';
import { type ReactNode, useState } from 'react';
import { errorCode, isUnauthorized, signInUrl } from '@/lib/errors.ts';
import { TRPCProvider } from '@/lib/trpc.ts';

const PUBLIC_PATHS = ['/sign-in', '/sign-up', '/setup'];

/** A 401 anywhere means the session is gone: go sign in, then come back here. */
function redirectToSignIn(error: unknown) {
  if (!isUnauthorized(error) || typeof window === 'undefined') return;
  const { pathname, search } = window.location;
  // a shared report (/share/<token>) is read without an account, and an invitation
  // (/invite/<token>) opened before signing up: a 401 there is not a lost session
  if (PUBLIC_PATHS.includes(pathname) || pathname.startsWith('/share/') || pathname.startsWith('/invite/')) return;
  window.location.replace(signInUrl(pathname + search));
}

const NO_RETRY = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_REQUEST', 'CONFLICT']);

function makeQueryClient() {
  return new QueryClient({
    queryCache: new QueryCache({ onError: redirectToSignIn }),
    mutationCache: new MutationCache({ onError: redirectToSignIn }),
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        retry: (failures, error) => !NO_RETRY.has(errorCode(error) ?? '') && failures < 2,
      },
    },
  });
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        // Chart series go one request each: a page of charts then fills in chart by chart
        // instead of waiting for its slowest query, and a 100-run input stays one URL.
        splitLink({
          condition: (op) => op.path === 'metrics.series',
          true: httpLink({ url: '/api/trpc' }),
          // batches stay under Node's 16 KiB request-header limit
          false: httpBatchLink({ url: '/api/trpc', maxURLLength: 8000 }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
