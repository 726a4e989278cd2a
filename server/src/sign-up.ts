// Who may create an account, as better-auth hooks: anyone while open sign-up is on
// (CELLMARK_ALLOW_SIGNUP), the first visitor of an empty server (the first-run setup), and
// otherwise only someone holding a valid invitation link, whose account then joins the
// link's team. Passwords and sessions stay entirely better-auth's.
import type { Db } from '@cellmark/db';
import { APIError, createAuthMiddleware } from 'better-auth/api';
import { DomainError } from './domain/errors.ts';
import { claimInvitation, INVITATION_HEADER, joinAfterSignUp, openInvitation } from './domain/invitations.ts';
import { userCount } from './domain/onboarding.ts';

interface HookContext {
  headers?: Headers;
  context?: { logger?: { error(message: string, ...args: unknown[]): void } };
}

function invitationOf(ctx: HookContext | null | undefined): string | null {
  return ctx?.headers?.get(INVITATION_HEADER) || null;
}

export function signUpHooks(db: Db, allowSignUp: boolean) {
  return {
    /** The clear refusal, before better-auth looks at the body. */
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== '/sign-up/email') return;
        const token = invitationOf(ctx);
        if (token) {
          await openInvitation(db, token).catch(refuse('FORBIDDEN'));
          return;
        }
        if (allowSignUp || (await userCount(db)) === 0) return;
        throw new APIError('FORBIDDEN', {
          message: 'sign-up on this server is by invitation only: ask an admin of your team for an invitation link',
          code: 'SIGN_UP_BY_INVITATION_ONLY',
        });
      }),
    },
    databaseHooks: {
      user: {
        create: {
          /**
           * Runs only when an account is really about to be made (not for an email that
           * exists: better-auth answers those with its generic response first), so a use
           * is taken exactly per account. A link used up since the check above is a 409:
           * a 403 here would be turned into better-auth's generic "created" answer.
           */
          before: async (_user: unknown, ctx: HookContext | null) => {
            const token = invitationOf(ctx);
            if (token) await claimInvitation(db, token).catch(refuse('CONFLICT'));
          },
          after: async (user: { id: string }, ctx: HookContext | null) => {
            const token = invitationOf(ctx);
            if (!token) return;
            // The account exists by now; a failure to join must not turn the sign-up into an error.
            await joinAfterSignUp(db, user.id, token).catch((error: unknown) =>
              ctx?.context?.logger?.error('could not add a new account to its invitation team', error),
            );
          },
        },
      },
    },
  };
}

function refuse(status: 'FORBIDDEN' | 'CONFLICT') {
  return (error: unknown): never => {
    if (error instanceof DomainError) throw new APIError(status, { message: error.message, code: 'INVITATION_INVALID' });
    throw error;
  };
}
