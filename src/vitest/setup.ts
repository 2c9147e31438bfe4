import { expect } from 'vitest';
import { matchers } from './matchers.js';

expect.extend(matchers);
