// The egress process (libs/service: Nest as the composition root, drain on
// SIGTERM/SIGINT, exit 78 on a configuration error naming the key).
import { runService } from '@petrel/service';
import { createEgress } from './create-egress.js';

runService({
  name: 'egress',
  create(config, deps) {
    const egress = createEgress(config, deps);
    return {
      start: () => egress.start(),
      stop: () => egress.stop(),
      describe: () => ({ health: egress.health?.url }),
    };
  },
});
