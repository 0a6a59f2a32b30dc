// The routing process (libs/service: Nest as the composition root, drain on
// SIGTERM/SIGINT, exit 78 on a configuration error naming the key).
import { runService } from '@petrel/service';
import { createRouting } from './create-routing.js';

runService({
  name: 'routing',
  create(config, deps) {
    const routing = createRouting(config, deps);
    return {
      start: () => routing.start(),
      stop: () => routing.stop(),
      describe: () => ({ grpc: routing.grpc?.address, health: routing.health?.url }),
    };
  },
});
