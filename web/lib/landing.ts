// Where signing in lands when nothing asked for a page (`?next=`): the project the user was
// in last (this browser remembers it), else the project with their latest run, else their
// teams (or onboarding without one). Landing on a team page first was one click too many.

const LAST_PROJECT_KEY = 'cellmark:last-project';

export interface ProjectRef {
  team: string;
  project: string;
}

/** Called by the project page: the next sign-in in this browser comes back here. */
export function rememberProject(ref: ProjectRef): void {
  try {
    window.localStorage.setItem(LAST_PROJECT_KEY, `${ref.team}/${ref.project}`);
  } catch {
    // storage disabled or full: sign-in lands on the most recent project instead
  }
}

/** The project this browser was last in, or null. */
export function lastProject(): ProjectRef | null {
  let value: string | null = null;
  try {
    value = window.localStorage.getItem(LAST_PROJECT_KEY);
  } catch {
    return null;
  }
  const [team, project, ...rest] = (value ?? '').split('/');
  return team && project && !rest.length ? { team, project } : null;
}

/**
 * The page to land on. `last` is the project this browser was in, once the caller checked the
 * user may still open it; `me` is me.get's answer.
 */
export function landingPath(me: { teams: readonly unknown[]; recentProject: ProjectRef | null }, last: ProjectRef | null): string {
  const project = last ?? me.recentProject;
  if (project) return `/t/${encodeURIComponent(project.team)}/${encodeURIComponent(project.project)}`;
  return me.teams.length === 0 ? '/onboarding' : '/';
}
