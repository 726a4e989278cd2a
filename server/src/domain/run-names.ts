// Readable run names ("brisk-river-42"), as W&B users know them. Editable later.
import { randomInt } from 'node:crypto';

const adjectives = [
  'amber', 'bold', 'brisk', 'calm', 'clever', 'crisp', 'dapper', 'eager', 'fancy', 'gentle', 'glad', 'golden',
  'hardy', 'honest', 'jolly', 'keen', 'lively', 'lucky', 'mellow', 'misty', 'nimble', 'polished', 'proud',
  'quiet', 'rapid', 'rosy', 'rustic', 'sharp', 'silent', 'snowy', 'solar', 'steady', 'sunny', 'swift',
  'tidy', 'vivid', 'warm', 'wild', 'wise', 'young',
];
const nouns = [
  'badger', 'breeze', 'brook', 'canyon', 'cedar', 'comet', 'crane', 'dawn', 'delta', 'dune', 'ember', 'falcon',
  'fern', 'field', 'fjord', 'forest', 'glade', 'harbor', 'heron', 'hill', 'lake', 'lantern', 'maple', 'meadow',
  'moon', 'otter', 'pine', 'planet', 'pond', 'raven', 'river', 'sky', 'sparrow', 'star', 'stone', 'sun',
  'thunder', 'tide', 'valley', 'wave',
];

export function generateRunName(): string {
  return `${adjectives[randomInt(adjectives.length)]}-${nouns[randomInt(nouns.length)]}-${randomInt(1, 100)}`;
}
