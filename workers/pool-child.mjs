// Entry of a pool child (workers/pool.ts forks it): registers the TypeScript loader, as bin/ does.
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('./pool-child.ts');
