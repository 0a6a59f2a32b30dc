// The ingress process (libs/service: Nest as the composition root, drain on
// SIGTERM/SIGINT, exit 78 on a configuration error naming the key).
import { runService } from '@petrel/service';
import { createIngress } from './create-ingress.js';

runService({
  name: 'ingress',
  create(config, deps) {
    const ingress = createIngress(config, deps);
    return {
      start: () => ingress.start(),
      stop: () => ingress.stop(),
      describe: () => ({ listeners: ingress.listeners, health: ingress.health?.url }),
    };
  },
});
