// The GPU status-bar item: "GPU 87% · 12.3/80 GiB" for the current notebook's
// kernel, hidden when it has no GPU or no recent reading.
import { Widget } from '@lumino/widgets';
import { describeGpu, type IGpuSample } from './gpu-sample';

export class GpuStatusWidget extends Widget {
  constructor() {
    super({ node: document.createElement('div') });
    this.addClass('cm-GpuStatus');
    this.addClass('jp-StatusBar-TextItem');
  }

  /** Show a sample (null: nothing to show); returns whether the item is visible. */
  render(sample: IGpuSample | null): boolean {
    const view = describeGpu(sample);
    this.node.textContent = view?.text ?? '';
    this.node.title = view?.title ?? '';
    return view !== null;
  }
}
