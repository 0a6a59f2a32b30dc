import { projectConfig } from '../vitest.shared.js';

export default projectConfig({ testTimeout: 90_000 });
