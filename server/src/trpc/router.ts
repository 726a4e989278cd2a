// The whole API. The web app imports only `type AppRouter` from here.
import { router } from './init.ts';
import { meRouter, projectsRouter, setupRouter, teamsRouter, tokensRouter } from './routers/accounts.ts';
import { ingestRouter } from './routers/ingest.ts';
import { invitationsRouter } from './routers/invitations.ts';
import { metricsRouter } from './routers/metrics.ts';
import { reportHistoryRouter, reportSharesRouter } from './routers/report-history.ts';
import { reportsRouter } from './routers/reports.ts';
import { runsRouter } from './routers/runs.ts';

export const appRouter = router({
  setup: setupRouter,
  me: meRouter,
  teams: teamsRouter,
  projects: projectsRouter,
  tokens: tokensRouter,
  invitations: invitationsRouter,
  runs: runsRouter,
  metrics: metricsRouter,
  reports: reportsRouter,
  reportHistory: reportHistoryRouter,
  reportShares: reportSharesRouter,
  ingest: ingestRouter,
});

export type AppRouter = typeof appRouter;
