import type { AppContext } from '../context';
import { ApiRouter } from '../http/api-router';

export function outboundApp(ctx: AppContext): ApiRouter {
  return new ApiRouter('/outbound', ctx.jsonLimitBytes);
}
