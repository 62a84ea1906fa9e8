import { z } from 'zod';
import { ApiRouter, type AppContext, callerOf } from '../../express';

const Greeting = z.object({ message: z.string(), name: z.string(), role: z.string() });

/** `GET /hello`: the smallest app behind the identity contract, greeting the caller. */
export function helloApp(ctx: AppContext): ApiRouter {
  return new ApiRouter('/hello', ctx.limits.jsonBodyBytes).get(
    '/',
    { summary: 'Greet the caller by name and role.', responses: { 200: { description: 'A greeting.', schema: Greeting } } },
    (req, res) => {
      const { name, role } = callerOf(req);
      res.json({ message: `Hello, ${name}! You are calling as ${role}.`, name, role });
    },
  );
}
