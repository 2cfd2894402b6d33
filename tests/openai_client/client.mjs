// The `openai` npm package against `trident serve` (run.sh starts both): a streamed chat
// completion, a required tool call (streamed and not) and a json_schema answer, each checked.
import OpenAI from 'openai';
import assert from 'node:assert/strict';

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: 'sekret' });
const model = 'stories260K.gguf';
const user = [{ role: 'user', content: 'Tell me a story.' }];

// 1. Streamed text at temperature 0 equals `trident run --temp 0` on the rendered prompt.
const stream = await client.chat.completions.create({ model, messages: user, max_tokens: 24, temperature: 0, stream: true });
let text = '';
let finish = null;
for await (const chunk of stream) {
  text += chunk.choices[0]?.delta?.content ?? '';
  finish = chunk.choices[0]?.finish_reason ?? finish;
}
assert.equal(text, process.env.EXPECTED);
assert.equal(finish, 'length');

// 2. A tool call, forced by tool_choice "required": arguments valid against the schema.
const weather = {
  type: 'object',
  properties: { city: { enum: ['Paris', 'Rome'] }, days: { type: 'integer', minimum: 1, maximum: 7 } },
  required: ['city', 'days'],
  additionalProperties: false,
};
const tools = [{ type: 'function', function: { name: 'get_weather', description: 'The weather', parameters: weather } }];
const checkArgs = (json) => {
  const args = JSON.parse(json);
  assert.deepEqual(Object.keys(args), ['city', 'days']);
  assert.ok(['Paris', 'Rome'].includes(args.city), json);
  assert.ok(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7, json);
};
const called = await client.chat.completions.create({
  model, messages: [{ role: 'user', content: 'Weather in Rome?' }], tools, tool_choice: 'required', max_tokens: 120, temperature: 0,
});
const choice = called.choices[0];
assert.equal(choice.finish_reason, 'tool_calls');
assert.equal(choice.message.tool_calls.length, 1);
assert.equal(choice.message.tool_calls[0].type, 'function');
assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
checkArgs(choice.message.tool_calls[0].function.arguments);

// The same streamed, gathered by the SDK's stream helper.
const completions = client.chat.completions.stream ? client.chat.completions : client.beta.chat.completions;
const runner = completions.stream({
  model, messages: [{ role: 'user', content: 'Weather in Rome?' }], tools, tool_choice: 'required', max_tokens: 120, temperature: 0,
});
const final = await runner.finalChatCompletion();
assert.equal(final.choices[0].finish_reason, 'tool_calls');
assert.equal(final.choices[0].message.tool_calls[0].function.name, 'get_weather');
assert.equal(final.choices[0].message.tool_calls[0].function.arguments, choice.message.tool_calls[0].function.arguments);

// The tool's result goes back and the conversation continues.
const followed = await client.chat.completions.create({
  model, max_tokens: 8, temperature: 0, tools,
  messages: [{ role: 'user', content: 'Weather in Rome?' }, choice.message,
             { role: 'tool', tool_call_id: choice.message.tool_calls[0].id, content: 'Sunny' }],
});
assert.equal(typeof followed.choices[0].message.content, 'string');

// 3. A JSON answer under response_format json_schema.
const schema = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer', minimum: 0, maximum: 120 } },
  required: ['name', 'age'],
  additionalProperties: false,
};
const answered = await client.chat.completions.create({
  model, messages: user, max_tokens: 60, temperature: 0,
  response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
});
assert.equal(answered.choices[0].finish_reason, 'stop');
const person = JSON.parse(answered.choices[0].message.content);
assert.deepEqual(Object.keys(person), ['name', 'age']);
assert.ok(typeof person.name === 'string' && person.name.length <= 12);
assert.ok(Number.isInteger(person.age) && person.age >= 0 && person.age <= 120);

// A wrong key is the SDK's AuthenticationError.
await assert.rejects(new OpenAI({ baseURL: process.env.BASE_URL, apiKey: 'wrong' }).models.list(),
                     (e) => e.status === 401);
console.log('openai client: streamed text, tool call, json_schema answer: ok');
