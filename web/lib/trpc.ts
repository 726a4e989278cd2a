// The typed tRPC hooks for the UI: `useTRPC()` gives query/mutation options for every procedure.
import type { AppRouter } from '@cellmark/server/router';
import type { inferRouterOutputs } from '@trpc/server';
import { createTRPCContext } from '@trpc/tanstack-react-query';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** Procedure outputs as they arrive in the browser (no transformer: Dates are ISO strings). */
type Jsonified<T> = T extends Date ? string : T extends (infer U)[] ? Jsonified<U>[] : T extends object ? { [K in keyof T]: Jsonified<T[K]> } : T;

export type Outputs = Jsonified<inferRouterOutputs<AppRouter>>;
