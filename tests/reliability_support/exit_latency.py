# Times guestrace's exit after its QEMU is SIGKILLed mid-trace (issue 8, point 4).
# GUESTRACE names the binary (default: target/debug/guestrace).
import subprocess, time, statistics, os, signal
G=os.environ.get('GUESTRACE', 'target/debug/guestrace')
res=[]
for i in range(5):
    boot=subprocess.Popen([G,'model','boot'],stdout=subprocess.PIPE,stderr=subprocess.DEVNULL,text=True)
    line=boot.stdout.readline().split()
    sock,kern,ram=line[1],line[3],line[5]
    qemu=int(subprocess.run(['pgrep','-f','qemu-system.*'+sock],capture_output=True,text=True).stdout.split()[0])
    t=subprocess.Popen([G,'-q','-n','ip:::,tcp:::,udp::: { @[probename]=count(); }','--gdb',sock,'--kernel',kern,'--ram',ram],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
    time.sleep(3)
    k=time.monotonic(); os.kill(qemu,signal.SIGKILL); rc=t.wait(); d=time.monotonic()-k
    res.append(d*1000); print(f"run {i}: rc={rc} exit {d*1000:.1f} ms")
    boot.wait(timeout=5)
print("median ms", statistics.median(res))
