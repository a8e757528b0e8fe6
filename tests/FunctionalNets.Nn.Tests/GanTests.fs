module FunctionalNets.Tests.Nn.GanTests

open System
open Xunit
open FunctionalNets
open FunctionalNets.Nn

let private gan = Gan.dcganMnist 8 4
let private tx () = Optim.adam (2e-3, b1 = 0.5)

// "Real" images: a vertical bar on a dark background, in [-1, 1].
let private real =
    lazy
        (let bar =
            Array.init (28 * 28) (fun p -> if abs (p % 28 - 14) < 3 then 1.0f else -1.0f)

         Tensor.ofArray (Array.concat (List.replicate 8 bar), [ 8; 1; 28; 28 ]))

let private bits (ts: TrainState) =
    PTree.values ts.Params |> List.map Tensor.toFloatArray

[<Fact>]
let ``the generator maps latents to images in [-1, 1] and the discriminator to one logit`` () =
    let s = Gan.init gan (tx ()) (tx ()) (Key.create 0L)
    let images = Gan.sample gan s.Generator 5 Device.Cpu (Key.create 1L)
    Assert.Equal<int[]>([| 5; 1; 28; 28 |], images.Shape.ToArray())
    Assert.All(Tensor.toFloatArray images, fun v -> Assert.InRange(v, -1.0, 1.0))

    let logits =
        Layer.predict gan.Discriminator s.Discriminator.Params s.Discriminator.State images

    Assert.Equal<int[]>([| 5; 1 |], logits.Shape.ToArray())

[<Fact>]
let ``the GAN step is a pure function of the pair of states and the batch`` () =
    let s = Gan.init gan (tx ()) (tx ()) (Key.create 0L)
    let a, logsA = Gan.step gan (tx ()) (tx ()) s real.Value
    let b, logsB = Gan.step gan (tx ()) (tx ()) s real.Value
    Assert.Equal<Logs>(logsA, logsB)
    Assert.Equal<float[] list>(bits a.Generator, bits b.Generator)
    Assert.Equal<float[] list>(bits a.Discriminator, bits b.Discriminator)
    // Both players moved, and each counts its own steps.
    Assert.NotEqual<float[] list>(bits s.Generator, bits a.Generator)
    Assert.Equal(1L, a.Generator.Step)
    Assert.Equal(1L, a.Discriminator.Step)
    // A different key gives a different step.
    let c, _ =
        Gan.step
            gan
            (tx ())
            (tx ())
            { s with
                Discriminator =
                    { s.Discriminator with
                        Key = Key.create 42L
                    }
            }
            real.Value

    Assert.NotEqual<float[] list>(bits a.Generator, bits c.Generator)

[<Fact>]
let ``the discriminator's loss falls as it learns the real images`` () =
    let start = Gan.init gan (tx ()) (tx ()) (Key.create 0L)
    let gtx, dtx = tx (), tx ()

    let _, logs =
        Seq.fold
            (fun (s, acc) _ ->
                let s, l = Gan.step gan gtx dtx s real.Value
                s, l :: acc)
            (start, [])
            (seq { 1..12 })

    let logs = List.rev logs
    // A discriminator that cannot tell the halves apart scores 2 ln 2 = 1.386.
    Assert.InRange(logs.Head["d_loss"], 1.0, 1.8)

    Assert.True(
        logs[11]["d_loss"] < logs.Head["d_loss"] - 0.2,
        sprintf "d_loss %A" (logs |> List.map (fun l -> l["d_loss"]))
    )

    Assert.True(logs[11]["d_real"] > logs[11]["d_fake"])

[<Fact>]
let ``a real batch of the wrong shape is refused with the expected shape`` () =
    let s = Gan.init gan (tx ()) (tx ()) (Key.create 0L)

    let e =
        Assert.Throws<ArgumentException>(fun () ->
            Gan.step gan (tx ()) (tx ()) s (Tensor.zeros [ 4; 28; 28 ]) |> ignore)

    Assert.Contains("Gan.step", e.Message)
