// What every block's view needs from the page: the project (blocks query its runs, keys…),
// the report, and whether this person may change block settings right now.
'use client';
import { createContext, useContext } from 'react';

export interface ReportContextValue {
  projectId: string;
  reportId: string;
  /** /t/<team>/<project>, for links to runs */
  base: string;
  /** editable now: a writer, synced, connection not closed by the server */
  editable: boolean;
  /** on a shared page: the link's token, which blocks read their data through (no account) */
  share?: string | undefined;
}

export const ReportContext = createContext<ReportContextValue | null>(null);

export function useReportContext(): ReportContextValue {
  const value = useContext(ReportContext);
  if (!value) throw new Error('report blocks render inside <ReportContext.Provider>');
  return value;
}
