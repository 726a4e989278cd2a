// Where signing in lands (me.get's recentProject) and what the quick start tells the UI about
// the JupyterLab it runs (me.get's localLab).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestServer, type TestServer, userWithProject } from './helpers.ts';

let server: TestServer;
let quickStart: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  quickStart = await startTestServer({ CELLMARK_LOCAL_LAB_URL: 'http://localhost:8888/lab', CELLMARK_LOCAL_LAB_PROJECT: 'local/notebooks' });
});
afterAll(async () => {
  await server?.dispose();
  await quickStart?.dispose();
});

describe('recentProject', () => {
  it('is null for a user without projects', async () => {
    const user = await signUp(server, 'nobody');
    expect((await user.api.me.get.query()).recentProject).toBeNull();
  });

  it('is the newest project until a run starts, then the project with the latest run', async () => {
    const user = await userWithProject(server, 'ada');
    const first = user.projectPath;
    expect((await user.api.me.get.query()).recentProject).toEqual({ team: user.team.slug, project: user.project.slug });
    const second = await user.api.projects.create.mutate({ teamId: user.team.id, name: 'Speech' });
    expect((await user.api.me.get.query()).recentProject).toEqual({ team: user.team.slug, project: second.slug });
    // a run in the first project, started after the second project was created
    await user.ingest.ingest.startRun.mutate({
      project: first,
      clientKey: 'landing-1',
      notebookPath: 'a.ipynb',
      startedAt: new Date(Date.now() + 1000).toISOString(),
    });
    expect((await user.api.me.get.query()).recentProject).toEqual({ team: user.team.slug, project: user.project.slug });
  });

  it("never names another user's project", async () => {
    const other = await userWithProject(server, 'eve');
    await other.ingest.ingest.startRun.mutate({
      project: other.projectPath,
      clientKey: 'landing-2',
      notebookPath: 'b.ipynb',
      startedAt: new Date(Date.now() + 60_000).toISOString(),
    });
    const user = await userWithProject(server, 'bob');
    expect((await user.api.me.get.query()).recentProject).toEqual({ team: user.team.slug, project: user.project.slug });
  });
});

describe('localLab', () => {
  it('is null unless the quick start set it', async () => {
    const user = await signUp(server, 'plain');
    expect((await user.api.me.get.query()).localLab).toBeNull();
  });

  it("says where the quick start's JupyterLab is and which project it records to", async () => {
    const user = await signUp(quickStart, 'local');
    expect((await user.api.me.get.query()).localLab).toEqual({ url: 'http://localhost:8888/lab', project: 'local/notebooks' });
  });
});
