// Ceiling: a bare Koa route returning a small JSON, no session, no store.
import Koa from 'koa';

const app = new Koa();
const body = { user: { id: 'Qx3vT0b1c2d3e4f5g6h7iA', email: 'ceiling.user@example.com' } };
app.use((ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/') ctx.body = body;
  else ctx.status = 404;
});
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
