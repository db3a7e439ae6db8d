// A small EventEmitter for the browser build of ferrolock/wasm (Node's
// build uses node:events): on/once/off/emit/listenerCount, with the
// `newListener` and `removeListener` events the TypeScript layer listens to.
export class EventEmitter {
  #listeners = new Map()

  on(event, listener) {
    if (typeof listener !== 'function') throw new TypeError(`listener must be a function, not ${typeof listener}`)
    if (this.#listeners.has('newListener')) this.emit('newListener', event, listener)
    const list = this.#listeners.get(event) ?? []
    list.push(listener)
    this.#listeners.set(event, list)
    return this
  }

  addListener(event, listener) {
    return this.on(event, listener)
  }

  once(event, listener) {
    const wrapped = (...args) => {
      this.off(event, wrapped)
      listener.apply(this, args)
    }
    wrapped.listener = listener
    return this.on(event, wrapped)
  }

  off(event, listener) {
    const list = this.#listeners.get(event)
    if (!list) return this
    const i = list.findIndex((l) => l === listener || l.listener === listener)
    if (i < 0) return this
    const [removed] = list.splice(i, 1)
    if (list.length === 0) this.#listeners.delete(event)
    if (this.#listeners.has('removeListener')) this.emit('removeListener', event, removed.listener ?? removed)
    return this
  }

  removeListener(event, listener) {
    return this.off(event, listener)
  }

  removeAllListeners(event) {
    const events = event === undefined ? [...this.#listeners.keys()] : [event]
    for (const e of events) for (const l of [...(this.#listeners.get(e) ?? [])]) this.off(e, l)
    return this
  }

  emit(event, ...args) {
    const list = this.#listeners.get(event)
    if (!list) {
      if (event === 'error') throw args[0] instanceof Error ? args[0] : new Error(`unhandled error event: ${args[0]}`)
      return false
    }
    for (const l of [...list]) l.apply(this, args)
    return true
  }

  listenerCount(event) {
    return this.#listeners.get(event)?.length ?? 0
  }
}
