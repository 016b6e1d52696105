// `npm run build:workflows`: the production workflow bundle (see workers/bundle.ts).
import { buildWorkflowBundle } from '../workers/bundle';
import { WORKFLOW_BUNDLE_PATH } from '../workers/worker';

const { bytes } = await buildWorkflowBundle(process.argv[2] ?? WORKFLOW_BUNDLE_PATH);
process.stdout.write(`wrote ${process.argv[2] ?? WORKFLOW_BUNDLE_PATH} (${(bytes / 1024).toFixed(0)} KiB)\n`);
