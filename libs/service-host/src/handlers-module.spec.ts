import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Controller, Inject } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { handlersModule, instance } from './handlers-module.js';

class Counter {
  count = 0;
}

@Controller()
class CountingHandlers {
  constructor(@Inject(Counter) readonly counter: Counter) {}
}

describe('handlersModule', () => {
  it("gives the controllers the instances built outside Nest, under the module's name", async () => {
    const shared = new Counter();
    const module = handlersModule('CountingModule', [CountingHandlers], [instance(Counter, shared)]);
    expect(module.module.name).toBe('CountingModule');
    const app = await NestFactory.createApplicationContext(module, { logger: false });
    try {
      expect(app.get(CountingHandlers).counter).toBe(shared);
    } finally {
      await app.close();
    }
  });
});
