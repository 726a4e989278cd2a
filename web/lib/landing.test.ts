// Unit tests for where signing in lands.
import { describe, expect, it } from 'vitest';
import { landingPath } from './landing.ts';

const team = { slug: 'local' };

describe('landingPath', () => {
  it('prefers the project this browser was in last', () => {
    expect(landingPath({ teams: [team], recentProject: { team: 'local', project: 'notebooks' } }, { team: 'local', project: 'vision' })).toBe(
      '/t/local/vision',
    );
  });

  it('else the most recent project: its runs, not the team page', () => {
    expect(landingPath({ teams: [team], recentProject: { team: 'local', project: 'notebooks' } }, null)).toBe('/t/local/notebooks');
  });

  it('without projects: the teams, or onboarding without a team', () => {
    expect(landingPath({ teams: [team], recentProject: null }, null)).toBe('/');
    expect(landingPath({ teams: [], recentProject: null }, null)).toBe('/onboarding');
  });
});
