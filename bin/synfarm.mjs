#!/usr/bin/env node
// Entry point: registers the TypeScript loader, then hands over to the CLI.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every start that its 2027 releases will need Node 22: not actionable for
// a synfarm user (we pin the SDK), so it is switched off unless the user set it themselves.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../cli/main.ts');
// Exit explicitly once the command is done: a client or runtime handle left open by a failed
// command must not keep the process alive.
process.exit(await main(process.argv.slice(2)));
