// Renaming a report (reports.rename): its page and the project's Reports list see it at once.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/lib/trpc.ts';

export function useRenameReport(reportId: string, projectId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const rename = useMutation(
    trpc.reports.rename.mutationOptions({
      onSuccess: () =>
        Promise.all([
          queryClient.invalidateQueries(trpc.reports.get.queryFilter({ reportId })),
          queryClient.invalidateQueries(trpc.reports.list.queryFilter({ projectId })),
        ]),
    }),
  );
  return (title: string) => rename.mutateAsync({ reportId, title });
}
