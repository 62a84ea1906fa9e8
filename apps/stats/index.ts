import type { AppContext } from '../context';
import { ApiRouter } from '../http/api-router';

export function statsApp(ctx: AppContext): ApiRouter {
  return new ApiRouter('/stats', ctx.jsonLimitBytes);
}
