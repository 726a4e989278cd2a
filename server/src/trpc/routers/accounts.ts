// The signed-in user, first-run state, teams, projects and API tokens.
import { roles } from '@cellmark/db';
import { z } from 'zod';
import { presenceOf } from '../../collab/presence.ts';
import { createWorkspace, userCount } from '../../domain/onboarding.ts';
import {
  addMember,
  createProject,
  createTeam,
  findProjectByPath,
  getTeamBySlug,
  listMembers,
  listMyTeams,
  listProjects,
  recentProject,
  removeMember,
} from '../../domain/teams.ts';
import { createToken, listTokens, revokeToken } from '../../domain/tokens.ts';
import { publicProcedure, router, sessionProcedure } from '../init.ts';

const name = z.string().trim().min(1).max(100);
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'lowercase letters, digits and dashes');

export const setupRouter = router({
  /** Drives the first-run page: with no user at all, the UI offers to create the first one. */
  status: publicProcedure.query(async ({ ctx }) => ({
    needsFirstUser: (await userCount(ctx.db)) === 0,
    signUpAllowed: ctx.env.CELLMARK_ALLOW_SIGNUP,
  })),
  createWorkspace: sessionProcedure
    .input(z.object({ teamName: name, projectName: name }))
    .mutation(({ ctx, input }) => createWorkspace(ctx.db, ctx.actor, input)),
});

export const meRouter = router({
  get: sessionProcedure.query(async ({ ctx }) => ({
    user: { id: ctx.user.id, name: ctx.user.name, email: ctx.user.email },
    /** name and caret colour as co-editors see them (the collab server stamps the same) */
    presence: presenceOf(ctx.user),
    teams: await listMyTeams(ctx.db, ctx.actor),
    /** the project to land on after signing in: the one with the latest run (or the newest) */
    recentProject: await recentProject(ctx.db, ctx.actor),
    /** the quick start's JupyterLab, already set up to record to `project`; null otherwise */
    localLab: ctx.env.CELLMARK_LOCAL_LAB_URL ? { url: ctx.env.CELLMARK_LOCAL_LAB_URL, project: ctx.env.CELLMARK_LOCAL_LAB_PROJECT ?? null } : null,
  })),
});

export const teamsRouter = router({
  list: sessionProcedure.query(({ ctx }) => listMyTeams(ctx.db, ctx.actor)),
  bySlug: sessionProcedure.input(z.object({ slug })).query(({ ctx, input }) => getTeamBySlug(ctx.db, ctx.actor, input.slug)),
  create: sessionProcedure.input(z.object({ name, slug: slug.optional() })).mutation(({ ctx, input }) => createTeam(ctx.db, ctx.actor, input)),
  members: sessionProcedure.input(z.object({ teamId: z.uuid() })).query(({ ctx, input }) => listMembers(ctx.db, ctx.actor, input.teamId)),
  addMember: sessionProcedure
    .input(z.object({ teamId: z.uuid(), email: z.email(), role: z.enum(roles) }))
    .mutation(({ ctx, input }) => addMember(ctx.db, ctx.actor, input)),
  removeMember: sessionProcedure
    .input(z.object({ teamId: z.uuid(), userId: z.string().min(1).max(200) }))
    .mutation(({ ctx, input }) => removeMember(ctx.db, ctx.actor, input)),
});

export const projectsRouter = router({
  list: sessionProcedure.input(z.object({ teamId: z.uuid() })).query(({ ctx, input }) => listProjects(ctx.db, ctx.actor, input.teamId)),
  byPath: sessionProcedure.input(z.object({ team: slug, project: slug })).query(async ({ ctx, input }) => {
    const { project, team, role, permissions } = await findProjectByPath(ctx.db, ctx.actor, `${input.team}/${input.project}`);
    return { project, team: { id: team.id, slug: team.slug, name: team.name }, role, permissions };
  }),
  create: sessionProcedure
    .input(z.object({ teamId: z.uuid(), name, slug: slug.optional(), description: z.string().max(2000).optional() }))
    .mutation(({ ctx, input }) => createProject(ctx.db, ctx.actor, input)),
});

export const tokensRouter = router({
  list: sessionProcedure.query(({ ctx }) => listTokens(ctx.db, ctx.actor)),
  /** The plaintext token is in this response and nowhere else, ever. */
  create: sessionProcedure.input(z.object({ name })).mutation(({ ctx, input }) => createToken(ctx.db, ctx.actor, input.name)),
  revoke: sessionProcedure.input(z.object({ tokenId: z.uuid() })).mutation(({ ctx, input }) => revokeToken(ctx.db, ctx.actor, input.tokenId)),
});
