// Every block a report can hold. A new block (lineage graph, evaluation table) is one file
// exporting a ReportBlock, added here; the toolbar's Insert menu and the editor pick it up.
import type { ReportBlock } from './block.ts';
import { runChartBlock } from './run-chart.tsx';

export const reportBlocks: readonly ReportBlock[] = [runChartBlock];
