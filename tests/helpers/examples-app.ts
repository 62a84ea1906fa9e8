import * as examples from '../../examples';
import { type HostAppOptions, hostApp } from '../../express/testing';

/** The example apps built from a whole deployment configuration, as the enclave's app host builds them. */
export const createApp = (config: unknown, options: HostAppOptions = {}) => hostApp(examples, config, options);
