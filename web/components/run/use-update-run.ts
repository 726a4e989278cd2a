// Saving a run's name, tags or notes (runs.update); the run page and runs table see it at once.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/lib/trpc.ts';

export function useUpdateRun(runId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return useMutation(
    trpc.runs.update.mutationOptions({
      onSuccess: async (saved) => {
        queryClient.setQueryData(trpc.runs.get.queryKey({ runId }), (old) => (old ? { ...old, run: { ...old.run, ...saved } } : old));
        await queryClient.invalidateQueries(trpc.runs.list.pathFilter());
      },
    }),
  );
}
