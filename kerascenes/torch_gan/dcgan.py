"""The PyTorch DCGAN: a generator, a discriminator, their Adam optimizers and one training step.

The step is the TensorFlow tutorial's (and :class:`kerascenes.gan.DCGAN`'s): one batch of
noise, one generator pass, the discriminator scores the real and the generated images,
both gradients are taken from that same forward pass and both optimizers step.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from kerascenes.gan.architectures import Architecture, OptimizerSpec, get_architecture
from kerascenes.torch_gan.models import build_discriminator, build_generator


def make_adam(params, spec: OptimizerSpec) -> torch.optim.Adam:
    """Adam configured like ``keras.optimizers.Adam`` (Keras' epsilon is 1e-7, torch's 1e-8)."""
    return torch.optim.Adam(params, lr=spec.learning_rate, betas=(spec.beta_1, spec.beta_2), eps=spec.epsilon)


class TorchDCGAN(nn.Module):
    """Generator + discriminator of one architecture spec, with their optimizers.

    Args:
        architecture: a registry name, a spec dict or an :class:`Architecture`.
        seed: seeds the weight initialisation (``None``: torch's current state).
        device: where the networks live (``"cpu"``, ``"cuda"``...).
    """

    def __init__(self, architecture: str | dict | Architecture = "cpu", seed: int | None = None,
                 device: str | torch.device = "cpu"):
        super().__init__()
        self.architecture = get_architecture(architecture)
        self.seed = seed
        self.generator = build_generator(self.architecture, seed).to(device)
        self.discriminator = build_discriminator(self.architecture, seed).to(device)
        self.g_optimizer = make_adam(self.generator.parameters(), self.architecture.g_optimizer)
        self.d_optimizer = make_adam(self.discriminator.parameters(), self.architecture.d_optimizer)
        self.generator_ema = None
        if self.architecture.ema_decay > 0:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.g_steps = 0

    @property
    def sampler(self) -> nn.Module:
        """The network that makes samples: the weight-averaged generator when ``ema_decay`` > 0."""
        return self.generator if self.generator_ema is None else self.generator_ema

    @torch.no_grad()
    def _update_ema(self) -> None:
        # the Keras twin's rule: d = min(ema_decay, (1 + t) / (10 + t)), t = generator steps before this one
        t = self.g_steps - 1
        decay = min(self.architecture.ema_decay, (1.0 + t) / (10.0 + t))
        averaged = list(self.generator_ema.parameters()) + [b for n, b in self.generator_ema.named_buffers()
                                                            if not n.endswith("num_batches_tracked")]
        current = list(self.generator.parameters()) + [b for n, b in self.generator.named_buffers()
                                                       if not n.endswith("num_batches_tracked")]
        for avg, cur in zip(averaged, current):
            avg.mul_(decay).add_(cur, alpha=1.0 - decay)

    @property
    def latent_dim(self) -> int:
        return self.architecture.latent_dim

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Standard normal latent vectors ``(n, latent_dim)``."""
        return torch.randn(n, self.latent_dim, generator=generator, device=self.device)

    def train_step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        """One simultaneous update of both networks on a batch of real images.

        Args:
            real: ``(n, 1, 28, 28)`` images in [-1, 1], on the model's device.

        Returns:
            ``g_loss``, ``d_loss``, ``d_acc_real``, ``d_acc_fake`` as 0-d tensors (detached;
            call ``.item()`` only when needed, to keep the step asynchronous on a GPU).
        """
        self.generator.train()
        self.discriminator.train()
        noise = self.noise(real.shape[0])
        fake = self.generator(noise)
        real_out = self.discriminator(real)
        fake_out = self.discriminator(fake)
        real_logits, fake_logits = real_out[:, :1], fake_out[:, :1]
        smoothing = self.architecture.label_smoothing
        real_target = torch.full_like(real_logits, 1.0 - smoothing)  # one-sided, as the Keras twin
        d_loss = (F.binary_cross_entropy_with_logits(real_logits, real_target)
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        g_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        d_total, g_total, codes = d_loss, g_loss, self.architecture.codes
        if codes:
            info_loss = F.cross_entropy(fake_out[:, 1:], noise[:, :codes].argmax(dim=1))
            d_total = d_loss + self.architecture.info_weight * info_loss
            g_total = g_loss + self.architecture.info_weight * info_loss

        d_params = [p for p in self.discriminator.parameters()]
        g_params = [p for p in self.generator.parameters()]
        d_grads = torch.autograd.grad(d_total, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(g_total, g_params)
        for p, g in zip(d_params, d_grads):
            p.grad = g
        for p, g in zip(g_params, g_grads):
            p.grad = g
        self.d_optimizer.step()
        self.g_optimizer.step()
        self.g_steps += 1
        if self.generator_ema is not None:
            self._update_ema()
        with torch.no_grad():
            metrics = {
                "g_loss": g_loss.detach(),
                "d_loss": d_loss.detach(),
                "d_acc_real": (real_logits > 0).float().mean(),
                "d_acc_fake": (fake_logits < 0).float().mean(),
            }
            if codes:
                metrics["info_loss"] = info_loss.detach()
            return metrics

    @torch.no_grad()
    def generate(self, noise: torch.Tensor) -> torch.Tensor:
        """Images ``(n, 1, 28, 28)`` in [-1, 1] from latent vectors (inference mode, :attr:`sampler`)."""
        self.sampler.eval()
        return self.sampler(noise.to(self.device))

    # -- checkpoints ------------------------------------------------------------------
    def checkpoint_state(self) -> dict[str, Any]:
        """Everything needed to continue training: weights, BatchNorm statistics, optimizers."""
        return {
            "architecture": self.architecture.to_dict(),
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "generator_ema": None if self.generator_ema is None else self.generator_ema.state_dict(),
            "g_steps": self.g_steps,
        }

    def load_checkpoint_state(self, state: dict[str, Any]) -> "TorchDCGAN":
        """Restore what :meth:`checkpoint_state` saved."""
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        if self.generator_ema is not None and state.get("generator_ema") is not None:
            self.generator_ema.load_state_dict(state["generator_ema"])
        self.g_steps = int(state.get("g_steps", 0))
        return self
