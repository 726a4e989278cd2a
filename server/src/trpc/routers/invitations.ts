// Invitation links into a team (admins and owners manage them; anyone holding one opens it).
import { roles } from '@cellmark/db';
import { z } from 'zod';
import { acceptInvitation, createInvitation, listInvitations, MAX_INVITATION_DAYS, openInvitation, revokeInvitation } from '../../domain/invitations.ts';
import { publicProcedure, router, sessionProcedure } from '../init.ts';

const teamId = z.uuid();
const token = z.string().min(1).max(200);

export const invitationsRouter = router({
  /** The plaintext link token is in this response and nowhere else, ever. */
  create: sessionProcedure
    .input(
      z.object({
        teamId,
        role: z.enum(roles),
        expiresInDays: z.number().int().min(1).max(MAX_INVITATION_DAYS),
        maxUses: z.number().int().min(1).max(10_000).nullish(),
      }),
    )
    .mutation(({ ctx, input }) => createInvitation(ctx.db, ctx.actor, input)),
  list: sessionProcedure.input(z.object({ teamId })).query(({ ctx, input }) => listInvitations(ctx.db, ctx.actor, input.teamId)),
  revoke: sessionProcedure.input(z.object({ teamId, invitationId: z.uuid() })).mutation(({ ctx, input }) => revokeInvitation(ctx.db, ctx.actor, input)),
  /** no account needed: the team and role the invite page shows */
  open: publicProcedure.input(z.object({ token })).query(({ ctx, input }) => openInvitation(ctx.db, input.token)),
  /** a signed-in person joins the team through the link */
  accept: sessionProcedure.input(z.object({ token })).mutation(({ ctx, input }) => acceptInvitation(ctx.db, ctx.actor, input.token)),
});
