// The status-bar item: one line of text, the full story in its tooltip, and a
// click action (open the run, or the settings when there is no run).
import { Widget } from '@lumino/widgets';
import type { ICaptureState } from '../tokens';
import { describeStatus, type StatusMode } from './describe';

const MODE_CLASSES: Record<StatusMode, string> = {
  off: 'cm-mod-idle',
  unconfigured: 'cm-mod-idle',
  idle: 'cm-mod-idle',
  paused: 'cm-mod-paused',
  error: 'cm-mod-error',
  recording: 'cm-mod-recording',
};

export class CellmarkStatusWidget extends Widget {
  constructor(private readonly onActivate: () => void) {
    super({ node: document.createElement('div') });
    this.addClass('cm-CellmarkStatus');
    this.addClass('jp-StatusBar-TextItem');
    this.node.setAttribute('role', 'button');
    this.node.tabIndex = 0;
    this.node.addEventListener('click', this.handleClick);
    this.node.addEventListener('keydown', this.handleKey);
  }

  /** Show a new state. */
  render(state: ICaptureState): void {
    const view = describeStatus(state);
    this.node.textContent = view.text;
    this.node.title = view.title;
    this.node.dataset.cellmarkMode = view.mode;
    for (const cls of Object.values(MODE_CLASSES)) {
      this.removeClass(cls);
    }
    this.addClass(MODE_CLASSES[view.mode]);
  }

  override dispose(): void {
    this.node.removeEventListener('click', this.handleClick);
    this.node.removeEventListener('keydown', this.handleKey);
    super.dispose();
  }

  private readonly handleClick = (): void => {
    this.onActivate();
  };

  private readonly handleKey = (event: KeyboardEvent): void => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.onActivate();
    }
  };
}
